"""What a signed-in client does on the Client Portal: messages, forms and tasks, appointment
requests, documents, balance — one module per capability (`portal/messages.py`, …), each a
service whose entry methods own the transaction and take the chart from the signed-in
session. Nothing here yet: the first capability (messages) arrives with its issue."""
