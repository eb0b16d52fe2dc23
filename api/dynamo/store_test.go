package dynamo

import (
	"testing"

	"github.com/usersvc/usersvc/api"
	"github.com/usersvc/usersvc/api/storetest"
)

func TestStoreContract(t *testing.T) {
	needDynalite(t)
	storetest.Run(t, func(t *testing.T) api.Store { return newTestStore(t) })
}
