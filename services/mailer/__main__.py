"""Start the mailer service: `python -m services.mailer`. Nothing runs at import time."""

from services.mailer.app import create_app
from services.mailer.config import MailerSettings
from shared.platform.serve import serve

if __name__ == "__main__":
    serve(name="mailer", settings_cls=MailerSettings, create_app=create_app)
