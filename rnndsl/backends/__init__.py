"""Backends, each behind one small interface: `emit(prepared or checked) -> artefact`.

* `dot`: the checked IR as Graphviz DOT (no TensorFlow).
* `keras`: the prepared IR (after the passes) as a functional keras.Model (imports TensorFlow).

Backends read facts from the catalogue (element-wise, zero rule, cell states) rather than
keeping lists of kinds; the Keras backend adds one builder per kind.
"""
