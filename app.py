"""The Chalice app: registers the blueprints and the middleware, nothing else."""

from chalice import Chalice

from chalicelib import rotation, workers
from chalicelib.api import account, auth, holder, pages, public, verify
from chalicelib.api.middleware import http_middleware

app = Chalice(app_name="certificates")
app.api.binary_types = ["application/pdf", "application/octet-stream"]

app.register_middleware(http_middleware, "http")
app.register_blueprint(public.bp)
app.register_blueprint(auth.bp)
app.register_blueprint(account.bp)
app.register_blueprint(holder.bp)
app.register_blueprint(verify.bp)
app.register_blueprint(pages.bp)
app.register_blueprint(workers.bp)
app.register_blueprint(rotation.bp)
