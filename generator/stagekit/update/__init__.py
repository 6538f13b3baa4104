"""stagekit update, check and diff: carry a generated project forward to a new scaffold."""
