"""The server side, pure: what a server must send so the browser allows a request (fix_plan), the
configuration that does it for eight frameworks (snippets), and the emulation of the middleware
the user means to deploy (policy, middleware). It reads the browser model (engine/); engine/
never imports it. Imports run one way: headers <- policy <- framework_options <- middleware, and
fix_plan <- snippets."""
