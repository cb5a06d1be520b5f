"""The trainers' page: a live browser demo of the district, and animations for slides.

``server`` checks the overrides and starts Solara on ``app`` (``python -m experiments.demo``
runs this package's ``__main__``); ``model`` steps the simulation for the page, ``map`` and
``charts`` draw it, ``text`` holds every label in English and Chinese, and ``animate`` renders
the same map and charts to a GIF or MP4 (``python -m experiments.animate``).
"""
