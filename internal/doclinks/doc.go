// Package doclinks holds no code: its test checks that every relative link
// in the repository's Markdown files resolves, anchors included.
package doclinks
