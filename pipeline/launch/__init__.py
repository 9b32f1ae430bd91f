"""Job launchers: the Beam runners and engines a job is launched on."""
