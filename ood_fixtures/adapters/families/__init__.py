"""One module per model family, each registering its factory with `ood_fixtures.adapters.register`. The registry
imports every module here (adding a family is adding a file)."""
