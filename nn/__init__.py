"""chainrule.nn: neurons, layers and MLPs built on chainrule.engine.Value."""
