package unigram

import (
	"bytes"
	"sort"
)

// trie maps byte strings to piece ids. Nodes are numbered in breadth-first
// order, so the children of node i are the nodes first[i] .. first[i+1]-1,
// sorted by label: 9 bytes a node instead of a hash map per node.
type trie struct {
	first []uint32 // len(nodes)+1
	label []byte   // the byte on the edge into the node
	id    []int32  // piece ending at the node, -1 for none
}

// newTrie builds the trie of pieces; a piece that occurs twice maps to its
// last id, as the Rust library's map from piece to id does.
func newTrie(pieces []string) *trie {
	order := make([]int32, len(pieces))
	for i := range order {
		order[i] = int32(i)
	}
	sort.SliceStable(order, func(a, b int) bool { return pieces[order[a]] < pieces[order[b]] })
	// level holds the sorted range of pieces under each node of one depth,
	// in node order; their children, in the same order, are the next level.
	type span struct{ lo, hi int32 }
	t := &trie{label: []byte{0}, id: []int32{-1}}
	level := []span{{0, int32(len(order))}}
	for n, depth := 0, 0; len(level) > 0; depth++ {
		var next []span
		for _, sp := range level {
			t.first = append(t.first, uint32(len(t.label)))
			lo := sp.lo
			for lo < sp.hi && len(pieces[order[lo]]) == depth {
				t.id[n] = order[lo] // stable sort: the last equal piece has the highest id
				lo++
			}
			for lo < sp.hi {
				b := pieces[order[lo]][depth]
				hi := lo + 1
				for hi < sp.hi && pieces[order[hi]][depth] == b {
					hi++
				}
				t.label = append(t.label, b)
				t.id = append(t.id, -1)
				next = append(next, span{lo, hi})
				lo = hi
			}
			n++
		}
		level = next
	}
	t.first = append(t.first, uint32(len(t.label)))
	return t
}

// child returns the child of node n along byte b, or -1.
func (t *trie) child(n int, b byte) int {
	lo, hi := int(t.first[n]), int(t.first[n+1])
	if hi == lo {
		return -1
	}
	i := lo + bytes.IndexByte(t.label[lo:hi], b)
	if i < lo {
		return -1
	}
	return i
}

// lookup returns the id of piece s, or -1.
func (t *trie) lookup(s string) int32 {
	n := 0
	for i := 0; i < len(s); i++ {
		if n = t.child(n, s[i]); n < 0 {
			return -1
		}
	}
	return t.id[n]
}
