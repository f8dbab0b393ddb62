"""A city to try the service on: the demo (``evalsvc serve --demo``) and the synthetic
generator (``evalsvc seed --scale N``). Neither is part of recomputing; both write through
the users' own bulk paths (store/)."""
