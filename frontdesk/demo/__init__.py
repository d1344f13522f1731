"""`frontdesk demo`: the embedded stack (stack.py) and the data it seeds (data.py)."""
