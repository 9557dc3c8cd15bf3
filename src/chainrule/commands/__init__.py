"""Sub-commands of the ``chainrule`` command line, one module each.

A command module defines ``NAME``, ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``; :mod:`chainrule.cli` lists the modules in ``COMMANDS``.
"""
