"""Reading a latent space (no Qt, no torch): the scenes a trajectory falls into
(``segments``), the frames that stand out (``anomalies``), what each latent dimension or
principal direction does (``traversal``, drawn by ``render``), directions to move latents
along (``directions``), and the trajectory as a table (``table``)."""
