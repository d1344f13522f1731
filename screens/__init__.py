"""The terminal UI's screens, dialogs and widgets (Textual).

Screens call the services only (`frontdesk.services.Services`); they never write SQL.
The stylesheet, `frontdesk.tcss`, ships inside this package (a symlink to the checkout's top-level
file, resolved into a real file when a wheel is built).
"""
