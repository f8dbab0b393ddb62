"""Pages for people: server-rendered HTML (Jinja2), every asset shipped in the package."""
