"""What trainers use: demo mode, the presenter view's guide steps, the guide generator."""
