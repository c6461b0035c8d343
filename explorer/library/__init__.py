"""Video libraries: many videos in one latent space, encoded on Ray.

A library is a folder: one trajectory file per video (the format of ``explorer encode``),
``library.json`` listing the videos (:mod:`.catalog`) and the map shared by all of them
(:mod:`.shared_map`). :mod:`.discover` finds the videos, :mod:`.build` plans and records
the work, which runs on Ray (:mod:`.cluster` connects, :mod:`.ray_pool` hands videos to
the :mod:`.worker` actors); :mod:`.joined` joins the videos for clips across them. Ray is
imported only inside the functions that use it, so nothing else waits for it.
"""
