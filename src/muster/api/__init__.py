"""The HTTP API: a flat route table (routes.py), Go ServeMux-style dispatch (app.py), rendering (render.py)."""
