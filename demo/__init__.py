"""The musiclatent web app (Gradio).

``demo.app`` builds the page (``build_demo(generator)``) and runs it
(``main()``); ``demo.handlers`` holds the event handlers, which tests call
directly; ``demo.workspace`` keeps per-request output folders, the bundled
example songs and the safe reading of uploads.
"""
