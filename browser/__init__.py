"""The browser app's parts that need no Solara (``app.py`` holds the page's Solara components).

- :mod:`browser.controls`: the levers read from the config's fields, the scenario and seed they
  describe, and a session's ``Settings``;
- :mod:`browser.live`: ``BrowserModel``, the model of one session, and where its nodes are drawn;
- :mod:`browser.views`: the network and chart figures, legend, captions and indicator texts;
- :mod:`browser.compare`: the comparison with the baseline on the shared pool (each session's fair
  share, stopped when cancelled or when its session ends), its figure and its table of effects;
- :mod:`browser.uploads`: a dropped package read without trusting it (size limit, no server file,
  memory estimated before it is accepted).

The server's pool of run processes is the batch's own: :func:`simulation.experiments.execute.shared_processes`.
"""
