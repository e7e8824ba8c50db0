"""Face engines behind the ``FaceEngine`` port; each is imported only when selected."""
