"""Local emulation: start and stop the official emulators and the function for tests and demos."""
