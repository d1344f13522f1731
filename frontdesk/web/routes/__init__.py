"""The web endpoint's routes, one module per capability (`routes.registration`,
`routes.signin`, `routes.reset`, `routes.portal`, `routes.messages`, `routes.health`), each
with its templates under `templates/<capability>/`. A module's `routes(...)` gives its part
of the route table; `frontdesk.web.app.create_web_app` puts the parts together.

Every signed-in route is wrapped in `Guard.signed_in` and takes the account and chart from the
`SignedIn` it is given, never from the request."""
