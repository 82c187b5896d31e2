"""The IR: graph types (folded and unrolled), unrolling, schedules and the stable text dump."""

from .graph import (INIT, Bound, EdgeAttr, EdgeKind, InputDecl, Loss, NodeAttr, OutputDecl, Program, Role, TargetKind, UNode,
                    Window, edge_kind, node_attr)
from .schedule import inputs_of, port_sources, topological_order
from .unroll import unroll, unrolled_size

__all__ = ["INIT", "Bound", "Window", "port_sources", "EdgeAttr", "EdgeKind", "InputDecl", "Loss", "NodeAttr", "OutputDecl", "Program", "Role", "TargetKind",
           "UNode", "edge_kind", "node_attr", "inputs_of", "topological_order", "unroll", "unrolled_size"]
