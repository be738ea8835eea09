"""gunicorn's settings file for the service, read from the working directory by default
(``gunicorn -w 4 -b 127.0.0.1:8000 'service:create_app()'``).

It only refuses to start with settings the service cannot run with, in one sentence and
before any worker starts (``service.settings.check_startup``), instead of every worker dying
with a traceback.
"""
import sys


def on_starting(server):
    """gunicorn's hook, called once in the master before the workers are forked."""
    import config
    from service.settings import ConfigError, check_startup

    settings = config.as_dict()
    try:
        check_startup(settings)
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(1)
