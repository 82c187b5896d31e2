"""Backends: each turns what the front end and the passes produced into one artefact.

* `dot/`: the checked IR as Graphviz DOT, drawn by the system `dot` (`emit_dot(checked, view, ...)`;
  no TensorFlow).
* `keras/`: the prepared IR as Keras models (`build_models(prepared or checked)`), lowered as the
  schedule in `Prepared.schedule` says (unrolled or looped), and export (SavedModel, TFLite);
  imports TensorFlow.
* `costs.py`: what each backend measured about its own costs, which the schedule pass chooses by;
  importing it loads no backend.

Backends read facts from the catalogue (element-wise, zero rule, cell states) and the plan from
the passes; they do not keep lists of kinds or plan schedules of their own.
"""
