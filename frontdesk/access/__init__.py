"""Who may enter the portal: the status tag and its rules, the invitation lifecycle,
registration, sign-in and passwords."""
