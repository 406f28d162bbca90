package simulator

// noise returns a deterministic value in [-1, 1) for a seed, a device, a signal and a
// time step, so the same seed and timestamps always give the same readings.
func noise(seed int64, device int, signal uint64, step int64) float64 {
	x := splitmix64(uint64(seed) ^ splitmix64(uint64(device)<<32^signal) ^ splitmix64(uint64(step)))
	return float64(x>>11)/float64(1<<52) - 1
}

// splitmix64 is a fast, well-mixing integer hash (Steele et al., "Fast splittable PRNGs").
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
