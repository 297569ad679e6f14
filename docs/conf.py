"""Sphinx configuration for the glue-xai docs (built without warnings by the test suite)."""
import os
import sys

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GLUE_TESTING", "True")

project = "glue-xai"
author = "the glue-xai team"
copyright = "2026, the glue-xai team"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}
exclude_patterns = ["_build"]
html_theme = "alabaster"
nitpicky = False
