"""Server-rendered pages behind internal interactive links (Jinja2, autoescaped, no script)."""
