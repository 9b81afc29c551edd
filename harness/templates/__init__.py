"""Chat templates outside Jinja: a Go text/template renderer and Ollama's Modelfile semantics.

:mod:`harness.templates.gotmpl` renders Go templates (what an Ollama Modelfile's
``TEMPLATE`` holds); :mod:`harness.templates.ollama` reads Modelfiles and renders a
conversation the way Ollama's server does; :mod:`harness.templates.serving` loads a
serving template file of any of these kinds (or Jinja) and renders and tokenizes with it.
"""
