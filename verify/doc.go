// Package verify will check the logs of one or several instances of a replica
// set for damage, gaps, stale terms and split-brain. Work on it has not started.
package verify
