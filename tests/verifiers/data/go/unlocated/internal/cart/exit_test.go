package cart_test

import (
	"log"
	"testing"
)

func TestExits(t *testing.T) {
	log.Fatal("config file missing")
}
