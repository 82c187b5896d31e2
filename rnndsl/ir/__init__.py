"""The IR: graph types (folded and unrolled), read forms, unrolling, schedules and the stable text dump."""

from .graph import (INIT, EdgeAttr, InputDecl, Loss, NodeAttr, OutputDecl, Program, Role, TargetKind, UNode,
                    edge_kind, node_attr)
from .reads import NOW, WHOLE, Bound, EdgeKind, Fixed, Lag, Range, ReadForm, Whole, Window, form_of
from .schedule import inputs_of, port_sources, topological_order
from .unroll import unroll, unrolled_size

__all__ = ["INIT", "Bound", "Window", "port_sources", "EdgeAttr", "EdgeKind", "InputDecl", "Loss", "NodeAttr",
           "OutputDecl", "Program", "Role", "TargetKind", "UNode", "edge_kind", "node_attr", "inputs_of",
           "topological_order", "unroll", "unrolled_size", "ReadForm", "Whole", "Lag", "Fixed", "Range", "WHOLE",
           "NOW", "form_of"]
