"""The terminal UI's screens, dialogs and widgets (Textual).

Screens call the lifecycle service only (`frontdesk.portal.PortalService`); they never write SQL.
The stylesheet, `frontdesk.tcss`, ships inside this package (a symlink to the checkout's top-level
file, resolved into a real file when a wheel is built).
"""
