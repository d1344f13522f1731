"""The bottom layer: no SQLAlchemy, Textual or Starlette. Clock, settings, text, emails,
tokens, identity matching, errors, field rules and every URL path the product builds."""
