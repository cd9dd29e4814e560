#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")
    from django.core.management import execute_from_command_line

    from salesops import audit_context

    # Whatever a command writes is a "command" event (our commands name themselves more
    # precisely with audit_context.as_command; this covers createsuperuser, shell, …).
    with audit_context.bound(audit_context.Channel.COMMAND, origin=" ".join(sys.argv[1:2])):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
