package scorer

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// ONNX protobuf field numbers (onnx.proto) that graphIO reads.
const (
	modelGraph       = 7  // ModelProto.graph
	graphInitializer = 5  // GraphProto.initializer
	graphInput       = 11 // GraphProto.input
	graphOutput      = 12 // GraphProto.output
	tensorName       = 8  // TensorProto.name
	valueName        = 1  // ValueInfoProto.name
	valueType        = 2  // ValueInfoProto.type
	typeTensor       = 1  // TypeProto.tensor_type
	tensorElemType   = 1  // TypeProto.Tensor.elem_type
	tensorShape      = 2  // TypeProto.Tensor.shape
	shapeDim         = 1  // TensorShapeProto.dim
	dimValue         = 1  // TensorShapeProto.Dimension.dim_value

	onnxFloat = 1 // TensorProto.FLOAT
	onnxInt64 = 7 // TensorProto.INT64
)

// valueInfo is a graph input or output: name, element type (TensorProto
// data type) and dimensions (-1 where symbolic).
type valueInfo struct {
	name     string
	elemType uint64
	dims     []int64
}

func (v valueInfo) String() string {
	return fmt.Sprintf("%s elem type %d dims %v", v.name, v.elemType, v.dims)
}

// graphIO reads the graph's inputs (without those that are initializers,
// as ONNX Runtime lists them) and outputs from model.onnx's bytes. It walks
// the protobuf instead of creating an ONNX Runtime session: a session, even
// unoptimized, copies every weight once more, which would add to the peak
// RSS of loading the scorer.
func graphIO(model []byte) (ins, outs []valueInfo, err error) {
	var graph []byte
	if err := walk(model, func(num protowire.Number, b []byte) error {
		if num == modelGraph {
			graph = b
		}
		return nil
	}); err != nil {
		return nil, nil, err
	}
	if graph == nil {
		return nil, nil, errors.New("no graph")
	}
	inits := map[string]bool{}
	err = walk(graph, func(num protowire.Number, b []byte) error {
		switch num {
		case graphInitializer:
			return walk(b, func(n protowire.Number, v []byte) error {
				if n == tensorName {
					inits[string(v)] = true
				}
				return nil
			})
		case graphInput, graphOutput:
			vi, err := parseValueInfo(b)
			if err != nil {
				return err
			}
			if num == graphInput {
				ins = append(ins, vi)
			} else {
				outs = append(outs, vi)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	kept := ins[:0]
	for _, in := range ins {
		if !inits[in.name] {
			kept = append(kept, in)
		}
	}
	return kept, outs, nil
}

// parseValueInfo reads a ValueInfoProto's name, element type and shape.
func parseValueInfo(b []byte) (valueInfo, error) {
	var vi valueInfo
	err := walk(b, func(num protowire.Number, v []byte) error {
		switch num {
		case valueName:
			vi.name = string(v)
		case valueType:
			return walk(v, func(n protowire.Number, t []byte) error {
				if n != typeTensor {
					return nil
				}
				return walk(t, func(n protowire.Number, f []byte) error {
					switch n {
					case tensorElemType:
						x, k := protowire.ConsumeVarint(f)
						if k < 0 {
							return protowire.ParseError(k)
						}
						vi.elemType = x
					case tensorShape:
						return walk(f, func(n protowire.Number, d []byte) error {
							if n != shapeDim {
								return nil
							}
							dim := int64(-1)
							err := walk(d, func(n protowire.Number, dv []byte) error {
								if n == dimValue {
									x, k := protowire.ConsumeVarint(dv)
									if k < 0 {
										return protowire.ParseError(k)
									}
									dim = int64(x)
								}
								return nil
							})
							vi.dims = append(vi.dims, dim)
							return err
						})
					}
					return nil
				})
			})
		}
		return nil
	})
	return vi, err
}

// walk calls fn for every field of the protobuf message b with the field's
// bytes: the payload of length-delimited fields, the raw varint otherwise.
func walk(b []byte, fn func(protowire.Number, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var val []byte
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			val, n = v, m
		case protowire.VarintType:
			_, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			val, n = b[:m], m
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			n = m
		}
		if err := fn(num, val); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}
