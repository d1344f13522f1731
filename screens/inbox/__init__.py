"""The desk's Portal inbox (issue 13): the list of everything the portal brought in that needs
the front desk (`inbox_screen.py`), one message thread with its reply and done actions
(`thread_screen.py`), and the reply and new-message dialogs (`message_dialogs.py`)."""
