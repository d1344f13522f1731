"""Chart records and related contacts: adding, checking, looking up, importing."""
