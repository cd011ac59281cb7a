"""The ``sagemaker_containers.beta`` namespace; its ``framework`` module is what scripts use."""
