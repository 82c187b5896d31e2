"""Training: the run configuration, the one train step, the loop, data loading and the run folder.

Imports TensorFlow (except `config`, which the CLI validates before importing it).
"""
