"""The simulation core: state, parameters and the kernels that move them (no Mesa, no tooling)."""
