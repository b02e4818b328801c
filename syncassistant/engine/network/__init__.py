"""The network of clones: remotes (one record each, URL checks, local paths that come and go), ssh
connections and change notices, the network map and who forwards content where."""
