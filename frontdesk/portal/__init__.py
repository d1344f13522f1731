"""What a signed-in client does on the Client Portal: messages, forms and tasks, appointment
requests, documents, balance — one module per capability (`portal/messages.py`,
`portal/tasks.py`, …), each a service whose entry methods own the transaction and take the
chart from the signed-in session. The form library (`forms.py`) and a new chart with its
invitation and forms (`new_chart.py`) live here too: they compose what the desk assigns."""
