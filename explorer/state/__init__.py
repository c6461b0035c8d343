"""What the user is looking at, without Qt: open videos and models, layouts, probe,
keyframes, settings, current frame; change events, undo, and the session round trip.

The window binds its widgets to an :class:`~explorer.state.app.AppState`: widgets send
intents (set the frame, move the probe, edit the clip) and redraw when the state says an
aspect changed. Sessions, undo and tests use the state alone.
"""
