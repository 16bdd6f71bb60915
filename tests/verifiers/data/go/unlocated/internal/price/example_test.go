package price_test

import (
	"fmt"

	"example.com/shop/internal/price"
)

func ExampleParse() {
	n, _ := price.Parse("1.25")
	fmt.Println(n)
	// Output: 126
}
