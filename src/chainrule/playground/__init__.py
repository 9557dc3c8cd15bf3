"""``chainrule playground``: TensorFlow Playground on chainrule's own engine, in the browser.

A local Starlette server (:mod:`.server`) gives each browser tab a :class:`.session.Session`:
its set-up (:mod:`.config`), its data (:mod:`.datasets`, or an uploaded table,
:mod:`.datasource`), a network and a chainrule :class:`~chainrule.training.Trainer` stepping in
a background thread, and a stream of screen updates (:mod:`.frames`). :mod:`.snippet` writes the Python that rebuilds it all.
Needs the ``playground`` extra (starlette, uvicorn); nothing here is imported by ``chainrule``.
"""
