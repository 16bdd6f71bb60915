"""A tiny Maven project: Java 17, JUnit Jupiter from Maven Central, Checkstyle bound to validate."""

from __future__ import annotations

NAME = "maven"
RAW_COMMANDS = [
    ["mvn", "-B", "--no-transfer-progress", "-o", "-Dmaven.repo.local=$MAVEN_REPO_LOCAL", "verify"]
]

MAIN = "src/main/java/com/example/calc/Calculator.java"
TEST = "src/test/java/com/example/calc/CalculatorTest.java"

_POM = """\
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>calc</artifactId>
  <version>1.0.0</version>

  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>

  <dependencies>
    <dependency>
      <groupId>org.junit.jupiter</groupId>
      <artifactId>junit-jupiter</artifactId>
      <version>5.10.2</version>
      <scope>test</scope>
    </dependency>
  </dependencies>

  <build>
    <plugins>
      <plugin>
        <artifactId>maven-compiler-plugin</artifactId>
        <version>3.13.0</version>
      </plugin>
      <plugin>
        <artifactId>maven-surefire-plugin</artifactId>
        <version>3.2.5</version>
      </plugin>
      <plugin>
        <artifactId>maven-jar-plugin</artifactId>
        <version>3.4.1</version>
      </plugin>
      <plugin>
        <artifactId>maven-checkstyle-plugin</artifactId>
        <version>3.3.1</version>
        <configuration>
          <checkstyleRules>
            <module name="Checker">
              <module name="TreeWalker">
                <module name="UnusedImports"/>
              </module>
            </module>
          </checkstyleRules>
          <includeTestSourceDirectory>true</includeTestSourceDirectory>
          <failOnViolation>true</failOnViolation>
        </configuration>
        <executions>
          <execution>
            <id>lint</id>
            <phase>validate</phase>
            <goals>
              <goal>check</goal>
            </goals>
          </execution>
        </executions>
      </plugin>
    </plugins>
  </build>
</project>
"""

_CALCULATOR = """\
package com.example.calc;

public final class Calculator {
    public int add(int a, int b) {
        return a + b;
    }

    public int multiply(int a, int b) {
        return a * b;
    }
}
"""

_CALCULATOR_TEST = """\
package com.example.calc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class CalculatorTest {
    private final Calculator calculator = new Calculator();

    @Test
    void addsTwoNumbers() {
        assertEquals(4, calculator.add(2, 2));
    }

    @Test
    void multipliesTwoNumbers() {
        assertEquals(6, calculator.multiply(2, 3));
    }
}
"""


def clean() -> dict[str, str]:
    return {"pom.xml": _POM, MAIN: _CALCULATOR, TEST: _CALCULATOR_TEST}


def compile_error() -> dict[str, str]:
    """`add` returns an undefined variable: javac's "cannot find symbol" on line 5."""
    return {**clean(), MAIN: _CALCULATOR.replace("return a + b;", "return a + c;")}


def failing_test() -> dict[str, str]:
    """`multipliesTwoNumbers` expects 7 from 2 * 3, on line 17 of the test."""
    broken = _CALCULATOR_TEST.replace(
        "assertEquals(6, calculator.multiply(2, 3));",
        'assertEquals(7, calculator.multiply(2, 3), "2 * 3");',
    )
    return {**clean(), TEST: broken}


def lint_violation() -> dict[str, str]:
    """An unused import on line 3 of the main class, which Checkstyle's UnusedImports rejects."""
    unused = _CALCULATOR.replace(
        "package com.example.calc;\n", "package com.example.calc;\n\nimport java.util.List;\n"
    )
    return {**clean(), MAIN: unused}
