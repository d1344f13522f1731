"""Forms and tasks at the desk (issue 14): the chart's tasks, the task view, assigning a form
or a package, and their requests (the app's worker runs them through `services.tasks`)."""
