package org.shop;

import static org.testng.Assert.assertEquals;

import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

public class DiscountTest {
    @DataProvider
    public Object[][] cases() {
        return new Object[][] {{1000, 10, 900}, {999, 50, 499}, {0, 0, 0}};
    }

    @Test(dataProvider = "cases")
    public void applies(int cents, int percent, int want) {
        assertEquals(new Discount().apply(cents, percent), want);
    }

    @Test(expectedExceptions = IllegalArgumentException.class)
    public void rejectsNegative() {
        new Discount().apply(100, -1);
    }

    @Test(enabled = false)
    public void disabled() {}
}
